// The binary codec lives in ForklineCodec, below ForklineSpawn (which encodes entry arguments
// with it); code that imports ForklineChannels or Forkline sees it as before.
@_exported import ForklineCodec
