@echo off
rem Install Spotter into .venv (Windows). Usage:
rem   install.bat [--weights DIR_OR_URL] [--cpu]
setlocal enabledelayedexpansion
cd /d "%~dp0"

set "WEIGHTS="
set "FORCE_CPU=0"
:args
if "%~1"=="" goto done_args
if /i "%~1"=="--weights" (set "WEIGHTS=%~2" & shift & shift & goto args)
if /i "%~1"=="--cpu" (set "FORCE_CPU=1" & shift & goto args)
echo install.bat: unknown option %~1
exit /b 2
:done_args

if "%PYTHON%"=="" set "PYTHON=py -3"
if not exist .venv\Scripts\python.exe (
  %PYTHON% -m venv .venv || (echo Python 3.10+ is needed & exit /b 1)
)
set "VPY=.venv\Scripts\python.exe"
%VPY% -m pip install --upgrade pip >nul

set "ORT=onnxruntime"
set "OTHER=onnxruntime-gpu"
if "%FORCE_CPU%"=="0" (
  where nvidia-smi >nul 2>&1 && nvidia-smi -L >nul 2>&1 && (set "ORT=onnxruntime-gpu" & set "OTHER=onnxruntime")
)
echo Installing %ORT%
%VPY% -m pip uninstall -y %OTHER% >nul 2>&1
%VPY% -m pip install -r requirements.txt %ORT% || exit /b 1

if not "%WEIGHTS%"=="" (
  %VPY% main.py install-weights "%WEIGHTS%" || exit /b 1
) else (
  if "%SPOTTER_MODELS%"=="" echo note: no --weights given and SPOTTER_MODELS is unset; see README "Model weights"
)
%VPY% main.py doctor
echo Spotter is installed. Run: .venv\Scripts\python.exe main.py
endlocal
