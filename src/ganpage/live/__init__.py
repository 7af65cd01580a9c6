"""Live generation: pictures drawn by the server when asked (``ganpage serve --live MODEL``)."""
