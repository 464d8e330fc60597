"""The contact store: applying canonical records (attributes, tags, events, links) and the
read-side queries (find by identity, contact view, unified history)."""
