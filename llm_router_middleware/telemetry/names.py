"""Every span, event and metric attribute name, as constants (``gen_ai.*`` from the semantic
conventions package, ``llm_router.*`` ours)."""

from __future__ import annotations

from opentelemetry.semconv._incubating.attributes import gen_ai_attributes as gen_ai
from opentelemetry.semconv.attributes import error_attributes, server_attributes

# --- gen_ai.* (semantic conventions) -------------------------------------------------------
GEN_AI_OPERATION_NAME = gen_ai.GEN_AI_OPERATION_NAME
GEN_AI_PROVIDER_NAME = gen_ai.GEN_AI_PROVIDER_NAME
GEN_AI_REQUEST_MODEL = gen_ai.GEN_AI_REQUEST_MODEL
GEN_AI_REQUEST_MAX_TOKENS = gen_ai.GEN_AI_REQUEST_MAX_TOKENS
GEN_AI_REQUEST_TEMPERATURE = gen_ai.GEN_AI_REQUEST_TEMPERATURE
GEN_AI_RESPONSE_MODEL = gen_ai.GEN_AI_RESPONSE_MODEL
GEN_AI_RESPONSE_ID = gen_ai.GEN_AI_RESPONSE_ID
GEN_AI_RESPONSE_FINISH_REASONS = gen_ai.GEN_AI_RESPONSE_FINISH_REASONS
GEN_AI_USAGE_INPUT_TOKENS = gen_ai.GEN_AI_USAGE_INPUT_TOKENS
GEN_AI_USAGE_OUTPUT_TOKENS = gen_ai.GEN_AI_USAGE_OUTPUT_TOKENS
GEN_AI_INPUT_MESSAGES = gen_ai.GEN_AI_INPUT_MESSAGES
GEN_AI_OUTPUT_MESSAGES = gen_ai.GEN_AI_OUTPUT_MESSAGES
ERROR_TYPE = error_attributes.ERROR_TYPE
SERVER_ADDRESS = server_attributes.SERVER_ADDRESS
SERVER_PORT = server_attributes.SERVER_PORT

# --- llm_router.* (ours) --------------------------------------------------------------------
STRATEGY = "llm_router.strategy"
CANDIDATES = "llm_router.candidates"
ORDER = "llm_router.order"
SELECTED = "llm_router.selected"
REASON = "llm_router.reason"
TIER = "llm_router.tier"
USER_ID = "llm_router.user_id"
ENDPOINT = "llm_router.endpoint"
REQUEST_ID = "llm_router.request_id"
PROMPT_TOKENS_ESTIMATE = "llm_router.prompt_tokens_estimate"
BUDGET_REMAINING = "llm_router.budget.remaining_usd"
BUDGET_SCOPE = "llm_router.budget.scope"
DOWNGRADED = "llm_router.budget.downgraded"
EXPERIMENT = "llm_router.experiment"
ARM = "llm_router.arm"
MODEL_USED = "llm_router.model_used"
FALLBACK_COUNT = "llm_router.fallback_count"
COST_USD = "llm_router.cost_usd"
ESTIMATED_COST_USD = "llm_router.estimated_cost_usd"
MODEL = "llm_router.model"
ATTEMPT = "llm_router.attempt"
ERROR_KIND = "llm_router.error.kind"
ERROR_FLAGGED = "llm_router.error.flagged"
RETRY_AFTER_S = "llm_router.retry_after_s"
TIMEOUT_S = "llm_router.timeout_s"
DEPLOYMENT = "llm_router.deployment"  # a deployment's name, never its key or api_base
RETRY = "llm_router.retry"  # the n-th retry of the same target
RECOVERY_WAIT_S = "llm_router.recovery_wait_s"  # waited for a cooling candidate to recover
CACHE = "llm_router.cache"  # "exact" | "semantic" (a hit) | "miss", when the cache is on
CACHE_SIMILARITY = "llm_router.cache.similarity"  # a semantic hit's cosine similarity
STATE_DEGRADED = "llm_router.state.degraded"  # the shared state store was unreachable
HEDGE_AFTER_S = "llm_router.hedge.after_s"  # the delay before the next model starts
HEDGE_DELAY_SOURCE = "llm_router.hedge.delay_source"  # "p95" or "configured"
HEDGE_STARTED = "llm_router.hedge.started"
HEDGE_WINNER = "llm_router.hedge.winner"
HEDGE_COST_USD = "llm_router.hedge.cost_usd"  # charged for the hedged calls that lost
HEDGE_OUTCOME = "llm_router.hedge.outcome"  # on an attempt span: "winner" or "loser"
# learned routing (set through plan.attributes, which the route span prefixes with llm_router.)
LEARNED_DIFFICULTY = "llm_router.learned.difficulty"
LEARNED_THRESHOLD = "llm_router.learned.threshold"
LEARNED_STRONG_SHARE = "llm_router.learned.strong_share"
LEARNED_REQUIRED_QUALITY = "llm_router.learned.required_quality"
LEARNED_CACHED = "llm_router.learned.cached"
LEARNED_TRUNCATED = "llm_router.learned.truncated"

# --- events -----------------------------------------------------------------------------------
EVENT_REJECTED = "llm_router.candidate_rejected"
EVENT_BREAKER = "llm_router.breaker_transition"
EVENT_COOLDOWN = "llm_router.cooldown"
EVENT_SKIPPED = "llm_router.attempt_skipped"
EVENT_HEDGE = "llm_router.hedge_started"

CAPTURE_CONTENT_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
