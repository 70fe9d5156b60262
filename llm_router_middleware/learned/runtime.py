"""What the Router holds for the learned strategy: the scorer, the knob per tier, feedback."""

from __future__ import annotations

from ..errors import ConfigError
from ..routing.learned import LearnedInput
from ..state.base import StateStore
from .feedback import FeedbackStore
from .model import DEFAULT_MODEL_PATH, F32, DifficultyModel
from .scorer import DifficultyScorer, encoder_for
from .settings import KEY, LearnedSettings


class LearnedRouting:
    def __init__(
        self,
        settings: LearnedSettings,
        store: StateStore,
        *,
        prefix: str = "llmr",
        scorer: DifficultyScorer | None = None,
    ) -> None:
        self.settings = settings
        self.scorer = scorer or self._scorer(settings)
        self.feedback = (
            FeedbackStore(
                store,
                prefix=prefix,
                limit=settings.feedback_limit,
                store_prompts=settings.store_prompts,
            )
            if settings.feedback
            else None
        )

    @staticmethod
    def _scorer(settings: LearnedSettings) -> DifficultyScorer:
        source = settings.model or DEFAULT_MODEL_PATH
        model = DifficultyModel.load(source, key=f"{KEY}.model")
        if settings.pair is not None:
            try:
                model = model.for_pair(*settings.pair)
            except KeyError as exc:
                raise ConfigError(f"{KEY}.pair", f"{exc.args[0]} ({source})") from None
        return DifficultyScorer(
            model,
            encoder_for(model),
            cache_size=settings.query_cache_size,
            cache_ttl=settings.query_cache_ttl,
            source=str(source),
            key=f"{KEY}.model",
        )

    def measure(self, text: str, tier: str) -> tuple[LearnedInput, F32 | None]:
        """The prompt's difficulty against the tier's knob, and the feature row (for feedback)."""
        knob = self.settings.knob_for(tier)
        if not text:
            return LearnedInput(None, knob.threshold, knob.strong_share), None
        d = self.scorer.score(text)
        return (
            LearnedInput(d.value, knob.threshold, knob.strong_share, d.cached, d.truncated),
            d.features,
        )

    def answered(
        self, request_id: str, features: F32, model: str, tier: str, prompt: str, strongest: bool
    ) -> None:
        if self.feedback is not None:
            self.feedback.remember(request_id, features, model, tier, prompt, strongest=strongest)

    def failed(self, features: F32, model: str, kind: str, tier: str, prompt: str) -> None:
        if self.feedback is not None:
            self.feedback.failure(features, model, kind, tier, prompt)

    def score(self, request_id: str, score: float) -> bool:
        return self.feedback is not None and self.feedback.score(request_id, score)
