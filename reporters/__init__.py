"""Built-in reporters, registered through the `sovscan.reporters` entry-point group."""
