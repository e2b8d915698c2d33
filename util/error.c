/* DOC: vmwire's GError domain (see include/util/error.h). */
#include "util/error.h"

G_DEFINE_QUARK(vmwire-error-quark, vmwire_error)
