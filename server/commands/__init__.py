"""Feature subcommands of `kopilka`: each module defines `register(subparsers)`."""
