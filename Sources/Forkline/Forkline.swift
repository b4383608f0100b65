@_exported import ForklineTrace
@_exported import ForklineSpawn
@_exported import ForklineReplay
