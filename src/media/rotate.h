// Rotation of 8-bit planar pictures by multiples of 90 degrees clockwise.
// Used after scaling (cheaper on the smaller picture) to honour a source's
// display matrix. Pure functions on caller-owned memory; thread-safe.
#pragma once

#include <cstdint>

namespace vs::media {

// Rotates one plane of src_w x src_h bytes. For 90/270 the destination is
// src_h wide and src_w high; for 180 it has the source's size.
void RotatePlane(const uint8_t* src, int src_stride, int src_w, int src_h, uint8_t* dst,
                 int dst_stride, int degrees_clockwise);

}  // namespace vs::media
