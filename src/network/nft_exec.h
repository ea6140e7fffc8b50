// Runs the nft program. Debian ships libnftables only as a shared library and berth is static,
// so every nftables change is one `nft -f -` batch (applied atomically by the kernel) and every
// read one `nft -j` listing.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace berth::network {

// Runs `nft_path args...` with input on its stdin and returns its stdout. A non-zero exit
// becomes an error quoting nft's message: "nft: add rule ip berth ...: Error: ...". The
// category is NotFound when nft says "No such file or directory" (a missing table, chain or
// handle), PermissionDenied for "Operation not permitted", Internal otherwise.
Result<std::string> run_nft(const std::string& nft_path, const std::vector<std::string>& args,
                            std::string_view input = {});

// Applies a batch of nft commands (one per line) atomically with `nft -f -`.
Result<void> nft_apply(const std::string& nft_path, std::string_view batch);

// nft's stderr made into one line: "<command>: Error: <message>" for the first error nft
// reports, or the whitespace-collapsed text when it is not in nft's usual shape.
std::string summarize_nft_error(std::string_view stderr_text);

}  // namespace berth::network
