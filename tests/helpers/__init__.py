"""What several test modules share: servers, browsers, tiny models, data sets and pictures.
Test modules import from here (or use conftest's fixtures), never from each other."""
