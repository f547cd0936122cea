"""Payload formats, one module each, picked per subscription (``format:``)."""
from .base import BadInput, ParseResult
from .collectd import CollectdParser
from .json_v1 import JsonV1Parser
from .presence import PresenceParser

__all__ = ["BadInput", "ParseResult", "CollectdParser", "JsonV1Parser", "PresenceParser"]
