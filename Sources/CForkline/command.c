// A launcher's command (Syscall.spawnCommand): the GNU-only posix_spawn file action.
#include <spawn.h>

#include "CForkline.h"

int fl_spawn_actions_closefrom(void *actions, int from) {
  return posix_spawn_file_actions_addclosefrom_np((posix_spawn_file_actions_t *)actions, from);
}
