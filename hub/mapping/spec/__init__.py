"""Reading mapping files into a located spec (before compilation)."""

from hub.mapping.spec.loader import MappingSpec, Node, Problems, read_spec

__all__ = ["MappingSpec", "Node", "Problems", "read_spec"]
