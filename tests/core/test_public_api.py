import llm_router_middleware

PUBLIC = [
    "AllModelsFailedError",
    "Attempt",
    "BudgetExhaustedError",
    "ClientDisconnectedError",
    "ConfigError",
    "ContextError",
    "ContextRejected",
    "ContextResolver",
    "DeadlineExceededError",
    "HeaderContextResolver",
    "HealthReport",
    "InvalidRequestError",
    "LLMRouterMiddleware",
    "MemoryStore",
    "ModelSpec",
    "ModelStatus",
    "NoModelAvailableError",
    "Plan",
    "Policy",
    "PromptTooLongError",
    "ProviderRequestError",
    "Rejection",
    "RequestContext",
    "RequestLLM",
    "Router",
    "RouterConfig",
    "RouterError",
    "RoutingInfo",
    "ScopeSpend",
    "SpendReport",
    "StateStore",
    "UnsupportedFeatureError",
    "__version__",
    "configure_telemetry",
    "get_llm",
    "load_config",
]


def test_public_surface_is_pinned() -> None:
    assert sorted(llm_router_middleware.__all__) == sorted(PUBLIC)
    for name in PUBLIC:
        assert hasattr(llm_router_middleware, name), name


def test_importing_the_package_does_not_import_litellm() -> None:
    import subprocess
    import sys

    code = "import sys, llm_router_middleware; print('litellm' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
