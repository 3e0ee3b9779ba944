#pragma once
// The PKCS#11 C API as p11-kit ships it (libp11-kit-dev), in its standard
// names (CK_FUNCTION_LIST, CKM_ECDSA, ...): the one header any module's
// function table is read with.

#include <p11-kit/pkcs11.h>
