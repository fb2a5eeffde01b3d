"""The Zhipu AI plugin: its HTTP client, authorization, errors and action handlers."""
