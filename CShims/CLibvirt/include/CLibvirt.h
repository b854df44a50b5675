#ifndef SG_CLIBVIRT_H
#define SG_CLIBVIRT_H

/// libvirt's library version as major * 1,000,000 + minor * 1,000 + release
/// (virGetVersion), or -1 on failure.
long sg_virt_library_version(void);

#endif
