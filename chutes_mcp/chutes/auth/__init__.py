"""Who the client is to Chutes: an API key, or Sign in with Chutes (OAuth with PKCE) and its token file."""
