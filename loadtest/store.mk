# The in-process store benchmark (no HTTP).
