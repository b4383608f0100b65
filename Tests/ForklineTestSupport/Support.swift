import Forkline
