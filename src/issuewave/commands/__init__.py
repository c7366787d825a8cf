"""One module per subcommand; each is one function with keyword arguments returning an exit code."""
