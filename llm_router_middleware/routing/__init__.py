"""The routing decision and the ledgers it reads: plans, strategies, budgets, experiments."""

from .budget import BudgetLedger, BudgetSnapshot, Reservation
from .complexity import ComplexityResult, classify_complexity
from .experiments import BUCKETS, Assignment, ExperimentLog, assign, bucket_of
from .latency import LatencyFigures, LatencyTracker
from .plan import AttributeValue, Plan, Rejection
from .planner import PlanInput, Preselection, StateView, make_plan
from .stats import ArmStats, Difference, ExperimentReport, mean_ci, welch, wilson

__all__ = [
    "BUCKETS",
    "ArmStats",
    "Assignment",
    "AttributeValue",
    "BudgetLedger",
    "BudgetSnapshot",
    "ComplexityResult",
    "Difference",
    "ExperimentLog",
    "ExperimentReport",
    "LatencyFigures",
    "LatencyTracker",
    "Plan",
    "PlanInput",
    "Preselection",
    "Rejection",
    "Reservation",
    "StateView",
    "assign",
    "bucket_of",
    "classify_complexity",
    "make_plan",
    "mean_ci",
    "welch",
    "wilson",
]
