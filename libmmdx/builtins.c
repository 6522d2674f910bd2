/* The modalities compiled into libmmdx.a. Each modality's local.mk adds its sources to
 * the library and -DMMDX_BUILTIN_<NAME>=1 to its CPPFLAGS; the same sources also build
 * the loadable module mmdx_<name>.so. */
#include "registry.h"

#if MMDX_BUILTIN_HDF5
const mmdx_modality_desc_t *mmdx_modality_hdf5_get_desc(void);
#endif
#if MMDX_BUILTIN_HL7
const mmdx_modality_desc_t *mmdx_modality_hl7_get_desc(void);
#endif
#if MMDX_BUILTIN_VCF
const mmdx_modality_desc_t *mmdx_modality_vcf_get_desc(void);
#endif
#if MMDX_BUILTIN_SIGNAL
const mmdx_modality_desc_t *mmdx_modality_signal_get_desc(void);
#endif

const mmdx_modality_get_desc_fn mmdx_builtin_modalities[] = {
#if MMDX_BUILTIN_HDF5
    mmdx_modality_hdf5_get_desc,
#endif
#if MMDX_BUILTIN_HL7
    mmdx_modality_hl7_get_desc,
#endif
#if MMDX_BUILTIN_VCF
    mmdx_modality_vcf_get_desc,
#endif
#if MMDX_BUILTIN_SIGNAL
    mmdx_modality_signal_get_desc,
#endif
    NULL
};
