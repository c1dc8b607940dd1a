"""The plugin registry (placeholder: being written)."""

from traffik.plugins._info import BackendInfo, IntegrationInfo, StrategyImplementationInfo, StrategyInfo

__all__ = ["BackendInfo", "IntegrationInfo", "StrategyImplementationInfo", "StrategyInfo"]
