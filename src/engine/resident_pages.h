// Giving back the pages of a mapped file that a long-lived process (the monitor) touched once
// and no longer needs resident.
#pragma once
#include <string>

namespace berth::engine {

// Drops, from this process's mappings of the file at path, every page it never wrote: clean
// pages of a file mapping come back from the page cache on use, so only what is touched from
// now on counts as resident again. Pages the process wrote (copy-on-write, so anonymous) are
// kept, page by page (/proc/self/pagemap). The madvise calls come last, after everything else
// this needs, so that little of what they drop is faulted straight back. Best effort: does
// nothing when /proc cannot be read.
void drop_clean_file_pages(const std::string& path);

}  // namespace berth::engine
