// zlib, which every Linux has (headers: zlib1g-dev), for reading .csv.gz files.
#include <zlib.h>
