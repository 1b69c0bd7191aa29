#ifndef CONCORD_CSQLITE_SHIM_H
#define CONCORD_CSQLITE_SHIM_H
#include <sqlite3.h>
#endif
