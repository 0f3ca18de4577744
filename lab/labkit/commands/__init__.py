"""Extra labctl subcommands. Each module here defines `register(subparsers, config)`;
list it in MODULES to make it part of labctl."""
MODULES = ["labkit.commands.calls", "labkit.commands.inject", "labkit.commands.registry"]
