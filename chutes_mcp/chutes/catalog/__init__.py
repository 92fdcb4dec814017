"""The LLMs Chutes serves: the live catalog with its caches, model names and aliases, filters, the
picker, and browsing a page at a time."""
