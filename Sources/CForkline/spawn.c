// posix_spawn with the GNU file actions (closefrom, chdir) Swift's Glibc module does not expose.
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "CForkline.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>

pid_t fl_spawn(const char *path, char *const argv[], char *const envp[], const fl_spawn_io *io,
               int payload_fd, int payload_target, const char *cwd) {
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t attr;
  int rc = posix_spawn_file_actions_init(&fa);
  if (rc) return -rc;
  rc = posix_spawnattr_init(&attr);
  if (rc) { posix_spawn_file_actions_destroy(&fa); return -rc; }
  for (int i = 0; i < 3 && !rc; i++)
    if (io && io->fds[i] >= 0) rc = posix_spawn_file_actions_adddup2(&fa, io->fds[i], i);
  int closeFrom = 3;
  if (!rc && payload_fd >= 0) {
    rc = posix_spawn_file_actions_adddup2(&fa, payload_fd, payload_target);
    closeFrom = payload_target + 1;
  }
  if (!rc) rc = posix_spawn_file_actions_addclosefrom_np(&fa, closeFrom);
  if (!rc && cwd) rc = posix_spawn_file_actions_addchdir_np(&fa, cwd);
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  if (!rc) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (!rc) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (!rc) rc = posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  pid_t pid = -1;
  if (!rc) rc = posix_spawn(&pid, path, &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  return rc ? -rc : pid;
}
