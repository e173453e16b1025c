// Tests for corona/image.h: indexing conventions, slicing and Expected.
#include "corona/image.h"

#include <gtest/gtest.h>

namespace corona {
namespace {

TEST(ImageTypes, Image2DIsRowMajor) {
  ImageF img(3, 2);
  img.at(2, 1) = 7.0f;  // last pixel of the second row
  EXPECT_EQ(img.pixels[5], 7.0f);
  EXPECT_EQ(img.size(), 6u);
  EXPECT_FALSE(img.spacing_known);
}

TEST(ImageTypes, VolumeIsXFastestAndSlicesCarrySpacing) {
  LabelVolume vol(2, 3, 4);
  vol.spacing = {0.5, 0.75, 5.0};
  vol.at(1, 2, 3) = 9;  // (z * ny + y) * nx + x = (3*3+2)*2+1 = 23
  EXPECT_EQ(vol.voxels[23], 9);
  LabelMap s = vol.slice(3);
  EXPECT_EQ(s.width, 2);
  EXPECT_EQ(s.height, 3);
  EXPECT_EQ(s.at(1, 2), 9);
  EXPECT_DOUBLE_EQ(s.spacing_x, 0.5);
  EXPECT_DOUBLE_EQ(s.spacing_y, 0.75);
  EXPECT_TRUE(s.spacing_known);
  s.at(0, 0) = 4;
  vol.set_slice(1, s);
  EXPECT_EQ(vol.at(0, 0, 1), 4);
  EXPECT_EQ(vol.at(1, 2, 1), 9);
  EXPECT_EQ(vol.at(1, 2, 0), 0);
}

TEST(ImageTypes, MultiChannelIsChannelMajor) {
  MultiChannelImage m(2, 3, 2);
  m.at(1, 2, 1) = 1.5f;  // (c * h + y) * w + x = (1*2+1)*3+2 = 11
  EXPECT_EQ(m.data[11], 1.5f);
  EXPECT_EQ(m.plane_size(), 6u);
}

TEST(ImageTypes, ExpectedHoldsValueOrError) {
  Expected<int> good(3);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 3);
  Expected<int> bad(make_error("header: dim[1] = 0"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message, "header: dim[1] = 0");
}

TEST(ImageTypes, AffineDefaultsToIdentity) {
  Affine a;
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(a(r, c), r == c ? 1.0 : 0.0);
}

}  // namespace
}  // namespace corona
