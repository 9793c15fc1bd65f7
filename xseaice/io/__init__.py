"""File formats: readers and writers (CaFFe here; the full io package is assembled at merge)."""
