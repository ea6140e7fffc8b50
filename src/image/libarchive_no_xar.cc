// berth never writes xar archives. libarchive's archive_write_set_format.o (pulled in by the
// pax writer) refers to the xar writer, which needs libxml2 and through it ICU: 30 MB of a
// static binary and about a millisecond of page faults on every exec of berth, which happens
// on every container start. Defining the xar writer here keeps that object out of the link.
#include <archive.h>
#include <errno.h>

extern "C" int archive_write_set_format_xar(struct archive* a) {
  archive_set_error(a, EINVAL, "xar archives are not supported by berth");
  return ARCHIVE_FATAL;
}
