"""The declarative field-mapping engine: YAML mapping files compiled into closures.

Inbound mappings turn a connector stream's native records into
:class:`~hub.canonical.CanonicalRecord` objects; outbound mappings turn a canonical view
of one contact into a sink's native payload. ``docs/mappings.md`` is the reference.

    mapping = load_mapping("mappings/feiyu.leads.yaml", lookups=config.lookups, instance="feiyu_main")
    results, rejected = mapping.apply_many(records)
"""

from hub.mapping.compiled import VIEW_KEYS, CompiledMapping, Explanation, FieldTrace, canonical_view
from hub.mapping.compiler import load_mapping
from hub.mapping.discovery import SHIPPED_DIR, find_mapping, mapping_filename
from hub.mapping.errors import MappingError, MappingRecordError, MappingWarning, TransformError
from hub.mapping.instances import load_for_instance, mappings_in_config

__all__ = [
    "CompiledMapping",
    "Explanation",
    "FieldTrace",
    "MappingError",
    "MappingWarning",
    "MappingRecordError",
    "SHIPPED_DIR",
    "TransformError",
    "VIEW_KEYS",
    "canonical_view",
    "find_mapping",
    "load_for_instance",
    "load_mapping",
    "mapping_filename",
    "mappings_in_config",
]
