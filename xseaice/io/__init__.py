"""Input and output: format readers and writers (altimetry, ...)."""
