/* placeholder replaced by the core implementation */
#include "mmdx/ctx.h"
