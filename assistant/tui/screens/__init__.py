"""Modal and full screens of the chat app."""
