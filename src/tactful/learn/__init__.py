"""Learning from outcomes. The bandit arrives with the learning-loop issue; the hook is here now."""

from tactful.learn.base import Learner, RulesOnly

__all__ = ["Learner", "RulesOnly"]
