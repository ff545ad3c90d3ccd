"""Chat orchestration: prompt template, budget, session, history (no UI)."""
