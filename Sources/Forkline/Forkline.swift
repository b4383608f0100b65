@_exported import ForklineTrace
@_exported import ForklineSpawn
@_exported import ForklineChannels
@_exported import ForklineReplay
@_exported import ForklinePool
