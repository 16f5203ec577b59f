"""Reading a question: its language, and whether it leans on the conversation before it."""
