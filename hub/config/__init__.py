"""Config: ``config/hub.yaml`` loaded, interpolated and validated in one pass."""

from hub.config.errors import ConfigError, did_you_mean
from hub.config.loader import DEFAULT_CONFIG, config_path, load_config
from hub.config.model import (
    ConnectorInstance,
    FieldPolicy,
    HubConfig,
    HubSettings,
    IdentityRules,
    SinkConfig,
    StreamConfig,
)

__all__ = [
    "ConfigError",
    "ConnectorInstance",
    "DEFAULT_CONFIG",
    "FieldPolicy",
    "HubConfig",
    "HubSettings",
    "IdentityRules",
    "SinkConfig",
    "StreamConfig",
    "config_path",
    "did_you_mean",
    "load_config",
]
