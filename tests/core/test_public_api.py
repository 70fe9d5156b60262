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
    "DeploymentStatus",
    "EncoderError",
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
    "RedisUnavailableError",
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
    "StreamInterruptedError",
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


def test_every_error_is_importable_from_the_package_root() -> None:
    from llm_router_middleware import errors

    defined = {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, Exception)
    }
    assert "StreamInterruptedError" in defined
    assert defined <= set(llm_router_middleware.__all__)
    from llm_router_middleware.streaming import StreamInterruptedError

    assert StreamInterruptedError is llm_router_middleware.StreamInterruptedError
