/* Blocks: how the spans of stored chunks reach the disk.
 *
 * A block holds the blobs (blob.h) of consecutive chunks of one request,
 * back to back, compressed together with zstd; a row of traces names its
 * block and where its blob lies in the block's content. Chunks of one
 * request repeat each other (services, tag keys, runtime ids, resources),
 * which one chunk alone cannot exploit: the benchmark's payloads (alike by
 * construction) compress 7.6 times, their database is 3.7 times smaller;
 * real traces vary more. Bytes are what the store's single writer and its
 * fsyncs pay for: the WAL frames, their checksums, the checkpoint's second
 * copy, and the fsync latency every client waits out before its 200.
 * Compression runs on the HTTP threads, in parallel, before the batch
 * reaches the writer.
 *
 * Blobs are added to a block until its content reaches
 * AG_BLOCK_CONTENT_BYTES, so reading one chunk back decompresses about
 * 256 KiB (0.1-0.2 ms), more only when a single chunk is that big. */
#ifndef AG_BLOCK_H
#define AG_BLOCK_H

#include "buf.h"
#include "util.h"

#include <stddef.h>

#define AG_BLOCK_CONTENT_BYTES (256u * 1024u)
/* Larger contents are refused when decompressing (a damaged database). */
#define AG_BLOCK_MAX_CONTENT_BYTES (256u * 1024u * 1024u)

/* Appends the compressed form of content to out. Never fails (aborts on
 * out-of-memory, as the rest of the agent). Uses a compression context
 * kept per thread. */
void ag_block_compress(const void *content, size_t len, ag_buf *out);

/* Replaces out's contents with the decompressed block. Returns 0, or -1
 * when data is not a block this agent wrote or is damaged (out is then
 * empty). */
AG_MUST_CHECK int ag_block_decompress(const void *data, size_t len, ag_buf *out);

#endif
