/* Raw wasi_snapshot_preview1 imports with every pointer and length as a plain
 * integer, so tests can pass out-of-bounds pointers, unterminated or NUL-bearing
 * paths and huge counts that wasi-libc's wrappers would never produce. */
#ifndef RAW_H
#define RAW_H
#include <stdint.h>
#include <string.h>
#include "out.h"

#define RAW(name) __attribute__((__import_module__("wasi_snapshot_preview1"), __import_name__(#name)))
typedef int32_t I;
typedef int64_t L;

I raw_args_get(I argv, I buf) RAW(args_get);
I raw_args_sizes_get(I argc, I size) RAW(args_sizes_get);
I raw_environ_get(I env, I buf) RAW(environ_get);
I raw_environ_sizes_get(I count, I size) RAW(environ_sizes_get);
I raw_clock_res_get(I id, I res) RAW(clock_res_get);
I raw_clock_time_get(I id, L precision, I time) RAW(clock_time_get);
I raw_fd_advise(I fd, L offset, L len, I advice) RAW(fd_advise);
I raw_fd_allocate(I fd, L offset, L len) RAW(fd_allocate);
I raw_fd_close(I fd) RAW(fd_close);
I raw_fd_datasync(I fd) RAW(fd_datasync);
I raw_fd_fdstat_get(I fd, I stat) RAW(fd_fdstat_get);
I raw_fd_fdstat_set_flags(I fd, I flags) RAW(fd_fdstat_set_flags);
I raw_fd_fdstat_set_rights(I fd, L base, L inheriting) RAW(fd_fdstat_set_rights);
I raw_fd_filestat_get(I fd, I stat) RAW(fd_filestat_get);
I raw_fd_filestat_set_size(I fd, L size) RAW(fd_filestat_set_size);
I raw_fd_filestat_set_times(I fd, L atim, L mtim, I flags) RAW(fd_filestat_set_times);
I raw_fd_pread(I fd, I iovs, I iovs_len, L offset, I nread) RAW(fd_pread);
I raw_fd_prestat_get(I fd, I prestat) RAW(fd_prestat_get);
I raw_fd_prestat_dir_name(I fd, I path, I len) RAW(fd_prestat_dir_name);
I raw_fd_pwrite(I fd, I iovs, I iovs_len, L offset, I nwritten) RAW(fd_pwrite);
I raw_fd_read(I fd, I iovs, I iovs_len, I nread) RAW(fd_read);
I raw_fd_readdir(I fd, I buf, I buf_len, L cookie, I used) RAW(fd_readdir);
I raw_fd_renumber(I fd, I to) RAW(fd_renumber);
I raw_fd_seek(I fd, L offset, I whence, I newoffset) RAW(fd_seek);
I raw_fd_sync(I fd) RAW(fd_sync);
I raw_fd_tell(I fd, I offset) RAW(fd_tell);
I raw_fd_write(I fd, I iovs, I iovs_len, I nwritten) RAW(fd_write);
I raw_path_create_directory(I fd, I path, I len) RAW(path_create_directory);
I raw_path_filestat_get(I fd, I flags, I path, I len, I stat) RAW(path_filestat_get);
I raw_path_filestat_set_times(I fd, I flags, I path, I len, L atim, L mtim, I fst) RAW(path_filestat_set_times);
I raw_path_link(I old_fd, I old_flags, I old_path, I old_len, I new_fd, I new_path, I new_len) RAW(path_link);
I raw_path_open(I fd, I dirflags, I path, I len, I oflags, L base, L inheriting, I fdflags, I opened) RAW(path_open);
I raw_path_readlink(I fd, I path, I len, I buf, I buf_len, I used) RAW(path_readlink);
I raw_path_remove_directory(I fd, I path, I len) RAW(path_remove_directory);
I raw_path_rename(I fd, I old_path, I old_len, I new_fd, I new_path, I new_len) RAW(path_rename);
I raw_path_symlink(I old_path, I old_len, I fd, I new_path, I new_len) RAW(path_symlink);
I raw_path_unlink_file(I fd, I path, I len) RAW(path_unlink_file);
I raw_poll_oneoff(I in, I out, I nsubs, I nevents) RAW(poll_oneoff);
void raw_proc_exit(I code) RAW(proc_exit);
I raw_proc_raise(I sig) RAW(proc_raise);
I raw_sched_yield(void) RAW(sched_yield);
I raw_random_get(I buf, I len) RAW(random_get);
I raw_sock_accept(I fd, I flags, I fd_out) RAW(sock_accept);
I raw_sock_recv(I fd, I ri_data, I ri_len, I ri_flags, I ro_len, I ro_flags) RAW(sock_recv);
I raw_sock_send(I fd, I si_data, I si_len, I si_flags, I so_len) RAW(sock_send);
I raw_sock_shutdown(I fd, I how) RAW(sock_shutdown);

/* A guest address as the integer the imports take. */
#define P(ptr) ((I)(uintptr_t)(ptr))
/* A path argument pair: pointer and length of a C string. */
#define S(str) P(str), (I)strlen(str)

/* An address past the end of linear memory (memories here are far below 3 GiB). */
#define OOB ((I)0xC0000000)

/* Print "label: <errno>" (one line per check, compared across runtimes). */
#define CHECK(label, expr) out_kv((label), (int64_t)(expr))

/* The first preopened directory's fd (wasi-libc numbers preopens from 3). */
#define DIRFD 3

/* Rights wasi-libc asks for; tests pass these to open files the usual way. */
#define R_ALL ((L)0x3FFFFFFF)
#endif
