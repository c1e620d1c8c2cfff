"""OAuth-linked agents: an OAuth 2.1 authorization server (django-oauth-toolkit) whose tokens
act for one member in one environment, and the MCP server at /mcp that accepts them."""
