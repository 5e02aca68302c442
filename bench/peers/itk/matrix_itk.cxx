// The ITK backend of the benchmark matrix (bench/matrix/run.ts): read a TIFF stack into memory with
// itk::ImageSeriesReader, run one op with ITK's own filters, write a TIFF stack with
// itk::ImageSeriesWriter, one file per z named slice_%05d.tif (as bench/peers/matrix_ops.py).
// Built by bench/peers/itk/build.sh against Debian's ITK 5.2 (libinsighttoolkit5-dev).
//
//   bench/peers/itk/build/matrix_itk IN_DIR OUT_DIR OP
//   bench/peers/itk/build/matrix_itk --version            # ITK's version, e.g. 5.2.1
//
// OP as matrix_scipy.py: copy, threshold:128, uniform:K, gaussian:S, median:R, dilate:R, label:26
// (or :6), edt. Filters keep the input dtype (uint8, uint16, float32: dispatched at run time on the
// first file's pixel type); threshold and dilate write uint8 0/1, label uint32, edt float32. The
// whole volume in memory, ITK's default threading (one thread per core). MATRIX_ITK_VERBOSE=1 says
// on stderr what it read, how many threads ITK uses and, for label, whether ITK's numbering needed
// renumbering.
//
// Configured to give scipy.ndimage's voxels (bench/matrix/README.md, "ITK"):
// - scipy's default boundary 'reflect' (d c b a | a b c d) is itk::MirrorPadImageFilter, which
//   repeats the edge voxel the same way, by the filter's reach on every side; the filter's output
//   is cropped back (itk::RegionOfInterestImageFilter), and the pipeline only computes the region the
//   crop asks for.
// - gaussian:S is scipy's gaussian_filter: its sampled kernel (exp(-x²/2σ²), x = -r..r,
//   r = int(4σ + 0.5), divided by numpy's pairwise sum) as a 1-D itk::NeighborhoodOperator, run by
//   itk::NeighborhoodOperatorImageFilter along z, then y, then x, each pass stored in the input
//   dtype (a C cast: truncated for integers) before the next, as scipy does. ITK sums w[i]·x[i] from
//   the first tap to the last; scipy sums the symmetric pairs, w[c]·x[0] + Σ w[c-j]·(x[-j] + x[j]),
//   outermost first. The two float64 sums differ in their last bits. float32 results do not notice
//   (equal in the matrix), nor do integer results of noisy data (structured: equal), but where the
//   exact result is an integer — a linear neighbourhood, as in the ramp input, or a flat one — ITK's
//   sum lands just below it where scipy's lands on it, and truncates to one less; over three passes
//   up to two less (ramp, uint8 and uint16: 71 % of the voxels 1 or 2 below scipy's at 64³, 79 % at
//   128³).
// - uniform:K is scipy's uniform_filter: itk::BoxMeanImageFilter along one axis at a time (radius
//   K/2 on that axis, 0 on the others), z, then y, then x, each pass stored in the input dtype.
//   BoxMean's sums are float64 differences of a summed-area table: exact for integer data, so
//   integer results are scipy's (its running sum is exact too, and both divide by K); for float32
//   the two float64 sums can differ in their last bits, which the float32 result has not shown in
//   the matrix (equal). Odd K only (scipy's even-K origin is not a radius).
// - median:R is itk::MedianImageFilter with radius R (the (2R+1)³ cube, as median_filter(size=2R+1)).
// - dilate:R is itk::BinaryDilateImageFilter of (v >= 128) by an itk::FlatStructuringElement set
//   voxel by voxel to skimage's ball(R) (x² + y² + z² <= R²); outside the volume is background (no
//   padding), as scipy's binary_dilation.
// - label:26 is itk::ConnectedComponentImageFilter (FullyConnected for 26, not for 6) of (v >= 128),
//   renumbered in raster order of each component's first voxel, as scipy.ndimage.label numbers
//   them, if ITK's numbering is not already that (it was at 64³ and 128³).
// - edt is itk::SignedMaurerDistanceMapImageFilter on (v >= 128) with the background of scipy's mask
//   as Maurer's object: every foreground voxel's distance to the nearest background voxel (the
//   nearest one always borders the foreground, so it is on the object's contour, where Maurer
//   measures from), Euclidean, not squared, spacing 1; background voxels are set to 0 with
//   itk::MaskImageFilter. float32 throughout (scipy: float64 then float32; the distances are square
//   roots of integers, and both round them the same).
#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <dirent.h>
#include <iostream>
#include <string>
#include <sys/stat.h>
#include <utility>
#include <vector>

#include "itkBinaryDilateImageFilter.h"
#include "itkBinaryThresholdImageFilter.h"
#include "itkBoxMeanImageFilter.h"
#include "itkConnectedComponentImageFilter.h"
#include "itkFlatStructuringElement.h"
#include "itkImage.h"
#include "itkImageIOFactory.h"
#include "itkImageSeriesReader.h"
#include "itkImageSeriesWriter.h"
#include "itkMaskImageFilter.h"
#include "itkMedianImageFilter.h"
#include "itkMirrorPadImageFilter.h"
#include "itkMultiThreaderBase.h"
#include "itkNeighborhoodOperator.h"
#include "itkNeighborhoodOperatorImageFilter.h"
#include "itkRegionOfInterestImageFilter.h"
#include "itkSignedMaurerDistanceMapImageFilter.h"
#include "itkTIFFImageIO.h"
#include "itkVersion.h"

#include <tiffio.h> // the system's libtiff, for uint32 slices (ITK's TIFFImageIO cannot write them)

constexpr unsigned int Dim = 3;
using MaskImage = itk::Image<uint8_t, Dim>;
using LabelImage = itk::Image<uint32_t, Dim>;
using DistanceImage = itk::Image<float, Dim>;
constexpr double THRESHOLD = 128;

[[noreturn]] static void
fail(const std::string & message)
{
  std::cerr << "matrix_itk: " << message << std::endl;
  std::exit(2);
}

// ------------------------------------------------------------------------------------------------
// TIFF stacks

static std::vector<std::string>
stackFiles(const std::string & dir)
{
  DIR * d = opendir(dir.c_str());
  if (d == nullptr)
    fail("cannot read directory " + dir);
  std::vector<std::string> names;
  while (dirent * e = readdir(d))
  {
    std::string n = e->d_name, lower = n;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    const auto ends = [&](const std::string & s) {
      return lower.size() >= s.size() && lower.compare(lower.size() - s.size(), s.size(), s) == 0;
    };
    if (ends(".tif") || ends(".tiff"))
      names.push_back(n);
  }
  closedir(d);
  std::sort(names.begin(), names.end()); // Python's sorted(): byte order
  if (names.empty())
    fail("no .tif files in " + dir);
  for (auto & n : names)
    n = dir + "/" + n;
  return names;
}

static std::string
sliceName(const std::string & dir, itk::SizeValueType z)
{
  char name[32];
  std::snprintf(name, sizeof name, "/slice_%05lu.tif", static_cast<unsigned long>(z));
  return dir + name;
}

template <typename TImage>
static typename TImage::Pointer
readStack(const std::vector<std::string> & files)
{
  using Reader = itk::ImageSeriesReader<TImage>;
  auto reader = Reader::New();
  reader->SetImageIO(itk::TIFFImageIO::New());
  reader->SetFileNames(files);
  reader->Update();
  typename TImage::Pointer image = reader->GetOutput();
  image->DisconnectPipeline();
  return image;
}

template <typename TImage>
static void
writeStack(const TImage * image, const std::string & dir)
{
  using Slice = itk::Image<typename TImage::PixelType, 2>;
  using Writer = itk::ImageSeriesWriter<TImage, Slice>;
  mkdir(dir.c_str(), 0777);
  const auto depth = image->GetLargestPossibleRegion().GetSize()[2];
  std::vector<std::string> names;
  for (itk::SizeValueType z = 0; z < depth; ++z)
    names.push_back(sliceName(dir, z));
  auto io = itk::TIFFImageIO::New();
  io->SetCompressionToNoCompression();
  auto writer = Writer::New();
  writer->SetInput(image);
  writer->SetImageIO(io);
  writer->SetFileNames(names);
  writer->SetUseCompression(false);
  writer->Update();
}

/**
 * uint32 slices (label): ITK's TIFFImageIO writes 8- and 16-bit integers and float32 only, so these
 * are written with libtiff as it would (uncompressed, one strip, minisblack, SampleFormat uint).
 */
static void
writeStackU32(const LabelImage * image, const std::string & dir)
{
  mkdir(dir.c_str(), 0777);
  const auto size = image->GetLargestPossibleRegion().GetSize();
  const uint32_t w = size[0], h = size[1];
  const uint32_t * p = image->GetBufferPointer();
  for (itk::SizeValueType z = 0; z < size[2]; ++z, p += std::size_t{ w } * h)
  {
    const std::string name = sliceName(dir, z);
    TIFF * t = TIFFOpen(name.c_str(), "w");
    if (t == nullptr)
      fail("cannot write " + name);
    TIFFSetField(t, TIFFTAG_IMAGEWIDTH, w);
    TIFFSetField(t, TIFFTAG_IMAGELENGTH, h);
    TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
    TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
    TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
    TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
    TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, h);
    const tmsize_t bytes = static_cast<tmsize_t>(w) * h * 4;
    if (TIFFWriteEncodedStrip(t, 0, const_cast<uint32_t *>(p), bytes) != bytes)
      fail("cannot write " + name);
    TIFFClose(t);
  }
}

// ------------------------------------------------------------------------------------------------
// Boundary: mirror padding ('reflect') and the crop back

template <typename TImage>
static typename TImage::Pointer
mirrorPad(const TImage * image, const typename TImage::SizeType & by)
{
  using Pad = itk::MirrorPadImageFilter<TImage, TImage>;
  auto pad = Pad::New();
  pad->SetInput(image);
  pad->SetPadLowerBound(by);
  pad->SetPadUpperBound(by);
  pad->Update();
  typename TImage::Pointer out = pad->GetOutput();
  out->DisconnectPipeline();
  return out;
}

/** The filter's output over the input's (unpadded) region, indexed from 0. */
template <typename TFilter, typename TImage>
static typename TImage::Pointer
cropTo(TFilter * filter, const typename TImage::RegionType & region)
{
  using Crop = itk::RegionOfInterestImageFilter<TImage, TImage>;
  auto crop = Crop::New();
  crop->SetInput(filter->GetOutput());
  crop->SetRegionOfInterest(region);
  crop->Update();
  typename TImage::Pointer out = crop->GetOutput();
  out->DisconnectPipeline();
  return out;
}

template <typename TImage>
static typename TImage::SizeType
cube(itk::SizeValueType r)
{
  typename TImage::SizeType s;
  s.Fill(r);
  return s;
}

// ------------------------------------------------------------------------------------------------
// scipy's gaussian kernel as an ITK neighbourhood operator

/** numpy's pairwise summation of float64 (np.sum of a contiguous array). */
static double
pairwiseSum(const double * a, std::size_t n)
{
  if (n < 8)
  {
    double res = 0;
    for (std::size_t i = 0; i < n; ++i)
      res += a[i];
    return res;
  }
  if (n <= 128)
  {
    double r[8];
    for (int j = 0; j < 8; ++j)
      r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j)
        r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i)
      res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return pairwiseSum(a, n2) + pairwiseSum(a + n2, n - n2);
}

/** scipy's _gaussian_kernel1d(sigma, 0, int(4 sigma + 0.5)). */
static std::vector<double>
scipyGaussianWeights(double sigma)
{
  const int r = static_cast<int>(4.0 * sigma + 0.5);
  std::vector<double> phi(2 * r + 1);
  const double c = -0.5 / (sigma * sigma);
  for (int i = 0; i <= 2 * r; ++i)
  {
    const double x = i - r;
    phi[i] = std::exp(c * (x * x));
  }
  const double sum = pairwiseSum(phi.data(), phi.size());
  for (auto & w : phi)
    w /= sum;
  return phi;
}

/** A 1-D operator with given weights, centred, along one direction. */
class WeightsOperator : public itk::NeighborhoodOperator<double, Dim>
{
public:
  void
  SetWeights(const std::vector<double> & w)
  {
    m_Weights = w;
  }

protected:
  CoefficientVector
  GenerateCoefficients() override
  {
    return CoefficientVector(m_Weights.begin(), m_Weights.end());
  }
  void
  Fill(const CoefficientVector & c) override
  {
    this->FillCenteredDirectional(c);
  }

private:
  std::vector<double> m_Weights;
};

// ------------------------------------------------------------------------------------------------
// The ops

/**
 * One filter per axis, z then y then x (ITK's axes 2, 1, 0), each reading the previous one's
 * output and releasing it once read; `configure(pass, k, axis)` sets pass k up. The last output
 * cropped back to `region` (the volume before padding).
 */
template <typename Pass, typename TImage, typename Configure>
static typename TImage::Pointer
chainAxes(typename TImage::Pointer padded, const typename TImage::RegionType & region, Configure configure)
{
  typename Pass::Pointer passes[Dim];
  const TImage * in = padded;
  for (unsigned int k = 0; k < Dim; ++k)
  {
    passes[k] = Pass::New();
    configure(passes[k].GetPointer(), k, Dim - 1 - k);
    passes[k]->SetInput(in);
    if (k > 0)
      passes[k - 1]->ReleaseDataFlagOn();
    in = passes[k]->GetOutput();
  }
  return cropTo<Pass, TImage>(passes[Dim - 1].GetPointer(), region);
}

template <typename TImage>
static typename TImage::Pointer
gaussian(typename TImage::Pointer image, double sigma)
{
  using Pass = itk::NeighborhoodOperatorImageFilter<TImage, TImage, double>;
  const auto weights = scipyGaussianWeights(sigma);
  const auto r = static_cast<itk::SizeValueType>(weights.size() / 2);
  const auto region = image->GetLargestPossibleRegion();
  auto padded = mirrorPad<TImage>(image, cube<TImage>(r));
  image = nullptr; // the padded copy replaces the input
  WeightsOperator ops[Dim];
  // z, then y, then x: ITK's axis 2, 1, 0.
  return chainAxes<Pass, TImage>(padded, region, [&](Pass * pass, unsigned int k, unsigned int axis) {
    ops[k].SetDirection(axis);
    ops[k].SetWeights(weights);
    ops[k].CreateDirectional();
    pass->SetOperator(ops[k]);
  });
}

template <typename TImage>
static typename TImage::Pointer
uniform(typename TImage::Pointer image, unsigned int size)
{
  if (size % 2 == 0)
    fail("uniform: odd sizes only (scipy puts an even window's extra voxel before the centre)");
  using Pass = itk::BoxMeanImageFilter<TImage, TImage>;
  const itk::SizeValueType r = size / 2;
  const auto region = image->GetLargestPossibleRegion();
  auto padded = mirrorPad<TImage>(image, cube<TImage>(r));
  image = nullptr;
  return chainAxes<Pass, TImage>(padded, region, [&](Pass * pass, unsigned int, unsigned int axis) {
    typename TImage::SizeType radius;
    radius.Fill(0);
    radius[axis] = r;
    pass->SetRadius(radius);
  });
}

template <typename TImage>
static typename TImage::Pointer
median(typename TImage::Pointer image, unsigned int radius)
{
  using Filter = itk::MedianImageFilter<TImage, TImage>;
  const auto region = image->GetLargestPossibleRegion();
  auto padded = mirrorPad<TImage>(image, cube<TImage>(radius));
  image = nullptr;
  auto filter = Filter::New();
  filter->SetRadius(radius);
  filter->SetInput(padded);
  return cropTo<Filter, TImage>(filter.GetPointer(), region);
}

template <typename TImage>
static MaskImage::Pointer
threshold(const TImage * image)
{
  using Filter = itk::BinaryThresholdImageFilter<TImage, MaskImage>;
  auto filter = Filter::New();
  filter->SetInput(image);
  filter->SetLowerThreshold(static_cast<typename TImage::PixelType>(THRESHOLD));
  filter->SetUpperThreshold(itk::NumericTraits<typename TImage::PixelType>::max());
  filter->SetInsideValue(1);
  filter->SetOutsideValue(0);
  filter->Update();
  MaskImage::Pointer out = filter->GetOutput();
  out->DisconnectPipeline();
  return out;
}

static MaskImage::Pointer
dilate(const MaskImage * mask, int radius)
{
  using Kernel = itk::FlatStructuringElement<Dim>;
  using Filter = itk::BinaryDilateImageFilter<MaskImage, MaskImage, Kernel>;
  Kernel ball;
  Kernel::RadiusType r;
  r.Fill(radius);
  ball.SetRadius(r);
  for (unsigned int j = 0; j < ball.Size(); ++j)
  {
    const auto o = ball.GetOffset(j);
    ball[j] = o[0] * o[0] + o[1] * o[1] + o[2] * o[2] <= radius * radius; // skimage's ball(R)
  }
  auto filter = Filter::New();
  filter->SetInput(mask);
  filter->SetKernel(ball);
  filter->SetForegroundValue(1);
  filter->SetBackgroundValue(0);
  filter->Update();
  MaskImage::Pointer out = filter->GetOutput();
  out->DisconnectPipeline();
  return out;
}

static LabelImage::Pointer
label(const MaskImage * mask, int connectivity)
{
  using Filter = itk::ConnectedComponentImageFilter<MaskImage, LabelImage>;
  auto filter = Filter::New();
  filter->SetInput(mask);
  filter->SetFullyConnected(connectivity == 26);
  if (connectivity == 18)
    fail("label: 18-connectivity has no ITK counterpart (FullyConnected is 26, otherwise 6)");
  filter->Update();
  LabelImage::Pointer out = filter->GetOutput();
  out->DisconnectPipeline();
  // scipy numbers components in raster order of their first voxel; ITK's numbering comes from its
  // run-length merging and need not be that order. Renumber if it is not (a pass over the labels).
  uint32_t * p = out->GetBufferPointer();
  const std::size_t n = out->GetBufferedRegion().GetNumberOfPixels();
  std::vector<uint32_t> to(static_cast<std::size_t>(filter->GetObjectCount()) + 1, 0);
  uint32_t next = 0;
  bool ordered = true;
  for (std::size_t i = 0; i < n; ++i)
  {
    const uint32_t l = p[i];
    if (l != 0 && to[l] == 0)
    {
      to[l] = ++next;
      ordered = ordered && l == next;
    }
  }
  if (std::getenv("MATRIX_ITK_VERBOSE") != nullptr)
    std::cerr << "label: " << next << " components, ITK's numbering " << (ordered ? "is" : "is not")
              << " scipy's raster order" << std::endl;
  if (!ordered)
    for (std::size_t i = 0; i < n; ++i)
      p[i] = to[p[i]];
  return out;
}

static DistanceImage::Pointer
edt(const MaskImage * mask)
{
  using Maurer = itk::SignedMaurerDistanceMapImageFilter<MaskImage, DistanceImage>;
  using Mask = itk::MaskImageFilter<DistanceImage, MaskImage, DistanceImage>;
  auto maurer = Maurer::New();
  maurer->SetInput(mask);
  maurer->SetBackgroundValue(1); // Maurer's object: scipy's background (mask 0)
  maurer->SetInsideIsPositive(false); // the foreground (outside Maurer's object) is positive
  maurer->SetSquaredDistance(false);
  maurer->SetUseImageSpacing(false);
  maurer->ReleaseDataFlagOn();
  auto zero = Mask::New();
  zero->SetInput(maurer->GetOutput());
  zero->SetMaskImage(mask);
  zero->SetOutsideValue(0);
  zero->Update();
  DistanceImage::Pointer out = zero->GetOutput();
  out->DisconnectPipeline();
  return out;
}

// ------------------------------------------------------------------------------------------------

template <typename TPixel>
static void
run(const std::vector<std::string> & files, const std::string & out, const std::string & name, const std::string & param)
{
  using Image = itk::Image<TPixel, Dim>;
  typename Image::Pointer image = readStack<Image>(files);
  if (name == "copy")
    return writeStack<Image>(image, out);
  if (name == "threshold")
  {
    if (param != "" && std::stod(param) != THRESHOLD)
      fail("threshold: only 128");
    return writeStack<MaskImage>(threshold<Image>(image), out);
  }
  if (name == "uniform")
    return writeStack<Image>(uniform<Image>(std::move(image), std::stoi(param)), out);
  if (name == "gaussian")
    return writeStack<Image>(gaussian<Image>(std::move(image), std::stod(param)), out);
  if (name == "median")
    return writeStack<Image>(median<Image>(std::move(image), std::stoi(param)), out);
  if (name == "dilate" || name == "label" || name == "edt")
  {
    MaskImage::Pointer mask = threshold<Image>(image);
    image = nullptr; // scipy keeps only the mask from here on too
    if (name == "dilate")
      return writeStack<MaskImage>(dilate(mask, std::stoi(param)), out);
    if (name == "label")
      return writeStackU32(label(mask, param == "" ? 26 : std::stoi(param)), out);
    return writeStack<DistanceImage>(edt(mask), out);
  }
  fail("unknown op " + name);
}

int
main(int argc, char * argv[])
{
  if (argc == 2 && std::string(argv[1]) == "--version")
  {
    std::cout << itk::Version::GetITKVersion() << std::endl;
    return 0;
  }
  if (argc != 4)
  {
    std::cerr << "usage: matrix_itk IN_DIR OUT_DIR OP   (copy, threshold:128, uniform:K, gaussian:S, median:R, "
                 "dilate:R, label:26, edt)"
              << std::endl;
    return 2;
  }
  const std::string in = argv[1], out = argv[2], op = argv[3];
  const auto colon = op.find(':');
  const std::string name = op.substr(0, colon), param = colon == std::string::npos ? "" : op.substr(colon + 1);
  try
  {
    const auto files = stackFiles(in);
    auto io = itk::ImageIOFactory::CreateImageIO(files[0].c_str(), itk::CommonEnums::IOFileMode::ReadMode);
    if (!io)
      fail("cannot read " + files[0]);
    io->SetFileName(files[0]);
    io->ReadImageInformation();
    if (io->GetNumberOfComponents() != 1)
      fail("one component per pixel only");
    if (std::getenv("MATRIX_ITK_VERBOSE") != nullptr)
      std::cerr << "ITK " << itk::Version::GetITKVersion() << ", " << files.size() << " slices of "
                << itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) << ", "
                << itk::MultiThreaderBase::GetGlobalDefaultNumberOfThreads() << " threads" << std::endl;
    switch (io->GetComponentType())
    {
      case itk::IOComponentEnum::UCHAR:
        run<uint8_t>(files, out, name, param);
        break;
      case itk::IOComponentEnum::USHORT:
        run<uint16_t>(files, out, name, param);
        break;
      case itk::IOComponentEnum::FLOAT:
        run<float>(files, out, name, param);
        break;
      default:
        fail("pixel type " + itk::ImageIOBase::GetComponentTypeAsString(io->GetComponentType()) +
             ": uint8, uint16 or float32 only");
    }
  }
  catch (const itk::ExceptionObject & e)
  {
    std::cerr << "matrix_itk: " << e << std::endl;
    return 1;
  }
  return 0;
}
