"""A Starlette app that routes its LLM calls through ``LLMRouterMiddleware``."""
