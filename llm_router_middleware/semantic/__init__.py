"""Semantic routing: send a prompt to the route whose example utterances it is closest to.

Needs the `semantic` extra (`pip install llm-router-middleware[semantic]`). The configuration
parsed by `SemanticSettings.from_dict` (every key optional unless marked):

```toml
[routing.semantic]
encoder = "local"            # "local" (int8 ONNX all-MiniLM-L6-v2, no API key) or "litellm"
# model = "text-embedding-3-small"   # litellm only (required there); local is all-MiniLM-L6-v2
# api_base = "http://127.0.0.1:8000/v1"  # litellm only
# api_key_env = "OPENAI_API_KEY"         # litellm only: the NAME of the variable holding the key
# max_tokens = 256           # local encoder window; longer prompts are truncated (and say so)
# threads = 1                # onnxruntime intra-op threads for the local encoder
threshold = "auto"           # default: chosen at startup (see auto_threshold.py); or a cosine
aggregation = "max"          # route score: "max" (best example) or "mean" (centroid)
default_route = "chitchat"   # route taken when nothing clears its threshold (a route name)
# fallthrough = "complexity" # or: let this strategy decide instead (not with default_route)
# cache_dir = "~/.cache/llm_router_middleware/semantic"   # route-matrix cache on disk
# disk_cache = true          # false: never read or write the route-matrix cache
query_cache_size = 4096      # query embeddings kept in memory (0 disables)
query_cache_ttl = 3600       # seconds

[[routing.semantic.routes]]
name = "billing"
model = "cheap"              # one model for every tier ...
threshold = 0.55             # this route's own threshold
utterances = ["I was charged twice", "Where is my refund?"]

[[routing.semantic.routes]]
name = "chitchat"
tiers = { free = "cheap", pro = "gpt-4o", default = "cheap" }  # ... or one per tier
utterances = ["hi there", "how are you?"]
```

With `threshold = "auto"` the router picks one threshold when it builds the route matrix, from
the route examples (leave-one-out, and each route left out in turn as a stand-in for prompts
no route covers) and a shipped set of unrelated background prompts; no negatives needed.
Empty prompts are not embedded: `decide` returns the default route (or None) with
`empty=True`. A route's decision is the best-scoring route that clears its own threshold.
"""

from __future__ import annotations

import importlib.util

_MISSING = [
    m for m in ("numpy", "onnxruntime", "tokenizers") if importlib.util.find_spec(m) is None
]
if _MISSING:
    raise ImportError(
        f"semantic routing needs {', '.join(_MISSING)}: "
        "pip install 'llm-router-middleware[semantic]'"
    )

from llm_router_middleware.semantic.auto_threshold import (  # noqa: E402
    AutoThreshold,
    auto_threshold,
)
from llm_router_middleware.semantic.background import (  # noqa: E402
    background_texts,
    background_vectors,
)
from llm_router_middleware.semantic.cache import (  # noqa: E402
    BytesCache,
    MemoryBytesCache,
    QueryEmbeddingCache,
    normalize_text,
)
from llm_router_middleware.semantic.calibrate import (  # noqa: E402
    CalibrationReport,
    calibrate,
    calibrate_embeddings,
)
from llm_router_middleware.semantic.encoders import (  # noqa: E402
    MODEL_ORIGIN,
    MODEL_SHA256,
    TOKENIZER_SHA256,
    Encoded,
    Encoder,
    EncoderError,
    LiteLLMEncoder,
    LocalMiniLMEncoder,
)
from llm_router_middleware.semantic.index import RouteIndex, SemanticDecision  # noqa: E402
from llm_router_middleware.semantic.router import SemanticRouter, build_encoder  # noqa: E402
from llm_router_middleware.semantic.settings import (  # noqa: E402
    SemanticRouteSpec,
    SemanticSettings,
    default_cache_dir,
)
from llm_router_middleware.semantic.text import routable_text  # noqa: E402

__all__ = [
    "MODEL_ORIGIN",
    "MODEL_SHA256",
    "TOKENIZER_SHA256",
    "AutoThreshold",
    "BytesCache",
    "CalibrationReport",
    "Encoded",
    "Encoder",
    "EncoderError",
    "LiteLLMEncoder",
    "LocalMiniLMEncoder",
    "MemoryBytesCache",
    "QueryEmbeddingCache",
    "RouteIndex",
    "SemanticDecision",
    "SemanticRouteSpec",
    "SemanticRouter",
    "SemanticSettings",
    "auto_threshold",
    "background_texts",
    "background_vectors",
    "build_encoder",
    "calibrate",
    "calibrate_embeddings",
    "default_cache_dir",
    "normalize_text",
    "routable_text",
]
