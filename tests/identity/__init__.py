"""Identity resolution and contact store tests."""
