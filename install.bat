@echo off
rem Install Spotter into .venv (Windows). Usage:
rem   install.bat [--weights DIR_OR_URL] [--cpu] [--cluster]
rem     --weights  folder holding the model files (or a base URL serving them); see README "Model weights"
rem     --cpu      install the CPU build of ONNX Runtime even where an NVIDIA GPU is present
rem     --cluster  add the extras of requirements-cluster.txt (a library shared on PostgreSQL, indexing on Ray)
rem Environment: PYTHON (a Python 3.10+ command), PIP_ARGS (extra pip options).
setlocal enabledelayedexpansion
cd /d "%~dp0"

set "WEIGHTS="
set "FORCE_CPU=0"
set "CLUSTER=0"
:args
if "%~1"=="" goto done_args
if /i "%~1"=="--weights" (set "WEIGHTS=%~2" & shift & shift & goto args)
if /i "%~1"=="--cpu" (set "FORCE_CPU=1" & shift & goto args)
if /i "%~1"=="--cluster" (set "CLUSTER=1" & shift & goto args)
if /i "%~1"=="-h" goto usage
if /i "%~1"=="--help" goto usage
echo install.bat: unknown option %~1 1>&2
exit /b 2
:usage
echo Usage: install.bat [--weights DIR_OR_URL] [--cpu] [--cluster]
exit /b 0
:done_args

rem Find a Python: %PYTHON%, the py launcher, or python on PATH (the Microsoft Store one has no py).
if "%PYTHON%"=="" (
  py -3 -c "import sys" >nul 2>&1 && set "PYTHON=py -3"
)
if "%PYTHON%"=="" (
  python -c "import sys" >nul 2>&1 && set "PYTHON=python"
)
if "%PYTHON%"=="" (
  echo install.bat: no Python found: install Python 3.10 or newer from python.org, or set PYTHON 1>&2
  exit /b 1
)
%PYTHON% -c "import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)" || (
  for /f "delims=" %%v in ('%PYTHON% -c "import sys; print(sys.version.split()[0])"') do echo install.bat: %PYTHON% is Python %%v; Spotter needs 3.10 or newer 1>&2
  exit /b 1
)
if not exist .venv\Scripts\python.exe (
  %PYTHON% -m venv .venv || (echo install.bat: cannot create .venv with %PYTHON% 1>&2 & exit /b 1)
)
set "VPY=.venv\Scripts\python.exe"
%VPY% -m pip install %PIP_ARGS% --upgrade pip >nul

rem CUDA runs through ONNX Runtime (no CUDA PyTorch needed): onnxruntime-gpu with its CUDA and cuDNN
rem libraries from pip, where nvidia-smi sees an NVIDIA GPU.
set "ORT=onnxruntime"
set "OTHER=onnxruntime-gpu"
if "%FORCE_CPU%"=="0" (
  where nvidia-smi >nul 2>&1 && nvidia-smi -L >nul 2>&1 && (set "ORT=onnxruntime-gpu[cuda,cudnn]" & set "OTHER=onnxruntime")
)
echo Installing %ORT%
%VPY% -m pip uninstall -y %OTHER% >nul 2>&1
%VPY% -m pip install %PIP_ARGS% -r requirements.txt "%ORT%" || exit /b 1
if "%CLUSTER%"=="1" (
  %VPY% -m pip install %PIP_ARGS% -r requirements-cluster.txt || exit /b 1
)

if not "%WEIGHTS%"=="" (
  %VPY% main.py install-weights "%WEIGHTS%" || exit /b 1
) else (
  if "%SPOTTER_MODELS%"=="" echo note: no --weights given and SPOTTER_MODELS is unset; see README "Model weights"
)
%VPY% main.py doctor
echo Spotter is installed. Run: .venv\Scripts\python.exe main.py
endlocal
